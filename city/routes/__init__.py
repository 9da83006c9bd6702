"""The city's routes, one router per kind of caller: hubs, the dashboard's staff, the public,
content editors and back-office systems."""
