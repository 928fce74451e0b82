"""The beamline wing of samples: sample changers, sessions and a sample's page (views, forms, urls); its API is
``samples.api.changer_views`` and the ISPyB-compatible API."""
