"""FastAPI routers: thin layers that parse, call one function and shape the response."""
