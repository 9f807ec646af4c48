#!/usr/bin/env python3
"""SpiffWorkflow 3.2.0 peer benchmark for crates/flow/benches/core.rs (same model, same modes).

Setup:  python3 -m venv /tmp/spiffvenv && /tmp/spiffvenv/bin/pip install spiffworkflow==3.2.0
Run:    /tmp/spiffvenv/bin/python crates/flow/benches/spiff/bench.py [N]

Each instance: start with amount=600000, complete the 3 parallel user tasks one by one, assert
completed. `persist` mode: serialize to JSON after start and after every completion and
deserialize before every completion (a request cycle against a store).
"""
import os
import sys
import time

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

HERE = os.path.dirname(os.path.abspath(__file__))


def load_spec():
    parser = BpmnParser()
    parser.add_bpmn_file(os.path.join(HERE, "model.bpmn"))
    return parser.get_spec("deal")


def start(spec, amount):
    wf = BpmnWorkflow(spec)
    for t in wf.get_tasks(state=TaskState.READY):
        t.data["amount"] = amount
    wf.do_engine_steps()
    return wf


def ready_user_tasks(wf):
    return wf.get_tasks(state=TaskState.READY, manual=True)


def run(spec, n, persist):
    ser = BpmnWorkflowSerializer()
    tasks_done = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _ in range(n):
        wf = start(spec, 600000)
        blob = ser.serialize_json(wf) if persist else None
        while True:
            if persist:
                wf = ser.deserialize_json(blob)
            ready = ready_user_tasks(wf)
            if not ready:
                break
            ready[0].run()
            wf.do_engine_steps()
            tasks_done += 1
            if persist:
                blob = ser.serialize_json(wf)
        assert wf.is_completed(), "instance did not complete"
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    assert tasks_done == 3 * n, tasks_done
    return wall, cpu, tasks_done


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    spec = load_spec()
    wf = start(spec, 600000)
    size = len(BpmnWorkflowSerializer().serialize_json(wf))
    print(f"SpiffWorkflow 3.2.0, N={n}, waiting-instance state {size} B (3 open tasks)")
    print(f"{'mode':<10} {'tasks':>7} {'wall s':>8} {'inst/s':>9} {'inst/cpu-s':>11} {'us/inst':>9}")
    for mode in ("memory", "persist"):
        wall, cpu, tasks = run(spec, n, mode == "persist")
        print(f"{mode:<10} {tasks:>7} {wall:>8.3f} {n / wall:>9.1f} {n / cpu:>11.1f} {wall / n * 1e6:>9.1f}")


if __name__ == "__main__":
    main()
