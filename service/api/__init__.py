"""HTTP adapter: schemas, handlers, middlewares, OpenAPI."""
