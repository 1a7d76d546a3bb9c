"""Suspend the current run for a form's input, with a state message saying what it waits for.

Prefect's `suspend_flow_run` proposes a Suspended state without a message, so the UI shows a run
"Suspended" and nothing else. This is the same sequence (propose the state with the input
keyset, save the form's schema, stop the process) with the message added: what the run waits
for and who must act. On resume the flow runs again from the top, reaches this call, and the
server refuses a second suspension under the same key: the saved input is returned.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def suspend_for_input(wait_for_input: type[T], *, key: str, message: str) -> T:
    """Like prefect.flow_runs.suspend_flow_run(wait_for_input=…, key=…), with a state message."""
    from prefect import get_client
    from prefect._flow_run_suspension import mark_flow_run_suspension_requested
    from prefect.context import FlowRunContext, TaskRunContext
    from prefect.exceptions import Abort, Pause
    from prefect.input import keyset_from_paused_state
    from prefect.input.run_input import run_input_subclass_from_type
    from prefect.states import Suspended
    from prefect.utilities.engine import propose_state_sync

    context = FlowRunContext.get()
    if TaskRunContext.get() or context is None or context.flow_run is None:
        raise RuntimeError("only a flow run can suspend itself")
    flow_run_id = context.flow_run.id
    proposed = Suspended(timeout_seconds=None, pause_key=key, message=message)
    form = run_input_subclass_from_type(wait_for_input)
    keyset = keyset_from_paused_state(proposed)
    proposed.state_details.run_input_keyset = keyset
    with get_client(sync_client=True) as client:
        try:
            state = propose_state_sync(client=client, state=proposed, flow_run_id=flow_run_id)
        except Abort as exc:
            raise RuntimeError(f"flow run cannot be suspended: {exc}") from exc
        if state.is_running():
            # Suspended before under this key and resumed since: the input is saved.
            return form.load(keyset)
        if not state.is_paused():
            raise RuntimeError(f"flow run cannot be suspended, the server answered {state}")
        form.save(keyset)
    mark_flow_run_suspension_requested(flow_run_id, state)
    raise Pause(state=state)
