"""The machinery: settings, clock, jobs, storage, SMS and email, PDFs, images, QR codes, SQL
helpers, batching, the bus and rate limits. It knows nothing of the domain (no models, no
services); the services use it, never the reverse."""
