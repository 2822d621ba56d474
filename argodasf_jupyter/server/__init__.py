"""Jupyter server extension: the REST API the Argo-DASF sidebar renders.

Routes live under ``<base_url>/argodasf/api/``; see ``handlers.py``.
"""

from .handlers import route_table


def _load_jupyter_server_extension(serverapp):
    web_app = serverapp.web_app
    web_app.add_handlers(".*$", route_table(web_app.settings["base_url"]))
    serverapp.log.info("argodasf_jupyter: REST API at %sargodasf/api/", web_app.settings["base_url"])
