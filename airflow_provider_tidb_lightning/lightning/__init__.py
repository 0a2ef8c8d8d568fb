"""The import engine: tidb-lightning's TiDB backend in plain Python (it never imports Airflow).

The packages follow tidb-lightning's ``pkg/lightning`` so a TiDB engineer finds each stage where
they expect it, and imports point one way, from the top of this list to the bottom:

- :mod:`.importer` runs an import: plan, schema step, chunk step, scheduler, progress, summary;
- :mod:`.backend.tidb` encodes rows as SQL and writes batches; :mod:`.mydump` finds, routes,
  splits and parses the dump's files; :mod:`.checkpoints` remembers progress;
  :mod:`.errormanager` records bad rows and keeps the error budget;
- :mod:`.common` holds what every stage stands on: connections, retry, database error kinds,
  quoting, fail points, server detection;
- :mod:`.config` reads task files; :mod:`.errors` defines the located error types.

``cli`` and ``ctl`` are the ``tidb-lightning-py`` and ``tidb-lightning-py-ctl`` commands.
"""
