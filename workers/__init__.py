"""Background jobs on arq. Jobs take IDs, never ORM objects, and call `services`."""
