"""GET workflows/<name>/steps/<step>/report: a DASF step's Dask performance report.

The step's DaskJob (in the workflow Argo holds) names where the report is: a claim
this server reads at ``argodasf.workflow.claim-dirs`` (else at the pods' mount path),
or an object-store URL read with this server's credentials. The report's scripts
run confined to a unique origin, as Jupyter serves HTML files.
"""

from __future__ import annotations

import asyncio

import tornado.web
from jupyter_server.base.handlers import JupyterHandler

from .. import argo, step_report
from ..errors import ArgodasfError
from .handlers import _Handler


class StepReportHandler(_Handler):
    @property
    def content_security_policy(self) -> str:
        # not the API's default-src 'none': the report loads bokeh's scripts
        return JupyterHandler.content_security_policy.fget(self) + "; sandbox allow-scripts"

    @tornado.web.authenticated
    async def get(self, name: str, step: str):
        steps = {found["name"]: found for found in (await self.from_argo(argo.status, name))["steps"]}
        if step not in steps:
            raise tornado.web.HTTPError(
                404, f"workflow '{name}' has no step '{step}'; its steps: {', '.join(sorted(steps)) or 'none yet'}"
            )
        found = steps[step].get("report")
        if not found:
            raise tornado.web.HTTPError(404, f"step '{step}' writes no performance report; promote it with --report")
        try:
            data = await asyncio.to_thread(step_report.read, found, step)
        except FileNotFoundError:
            raise tornado.web.HTTPError(
                404,
                f"no performance report of step '{step}' at {step_report.describe(found)} "
                "yet; the step writes it when its cell ends",
            ) from None
        except step_report.ReportTooLarge as error:
            raise tornado.web.HTTPError(413, str(error)) from None
        except ArgodasfError as error:  # a reference this server does not serve
            raise tornado.web.HTTPError(403, str(error)) from None
        except Exception as error:  # the volume or the object store failed
            first = (str(error).splitlines() or [""])[0]
            raise tornado.web.HTTPError(
                502,
                f"the performance report of step '{step}' at "
                f"{step_report.describe(found)} cannot be read: "
                f"{type(error).__name__}: {first}",
            ) from None
        self.finish(data, set_content_type="text/html; charset=utf-8")
