"""The center's hub: enrollment, event ingest, the live queue, content bundles, statistics,
the operator console and the visitors' ticket status pages (see README, "The center's hub")."""
