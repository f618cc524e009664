"""The web application's pages, one module per page."""
