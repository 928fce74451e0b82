"""The data's REST endpoints (ingest for pipelines; reads): views and their router."""
