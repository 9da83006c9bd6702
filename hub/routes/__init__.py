"""The hub's HTTP routes, one router per kind of caller: `devices` (token), `console`
(operators' session cookie) and `pages` (browsers). `hub.api.create_app` includes them."""
