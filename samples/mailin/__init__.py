"""Mail-in service: the clients' requests per sample, the operator's queue, and the result reports."""
