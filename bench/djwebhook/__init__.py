"""B6's peer: the `django-webhook` package, run with its own settings, database, queue and
worker process, so nothing of it reaches the product's database or queues."""
