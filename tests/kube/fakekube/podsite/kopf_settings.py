"""Loaded into the operator beside its controller (`kopf run -m ... -m kopf_settings`).

kopf checks every 60 s whether a stopped timer has exited; a DaskAutoscaler deleted
while its timer runs then keeps its finalizer for a minute. Tests should not wait
that long, so the check runs every second. Nothing else of the operator changes."""

import kopf


@kopf.on.startup()
def check_stopped_timers_often(settings: kopf.OperatorSettings, **_):
    settings.background.cancellation_polling = 1
