#!/usr/bin/env python3
"""Check an exported BPMN file against the BPMN 2.0 XSD and SpiffWorkflow's parser.

    BPMN_OUT=/tmp/deal.bpmn cargo test -p weft-flow --test bpmn export_for_external_validation
    /tmp/spiffvenv/bin/python crates/flow/benches/spiff/validate_export.py /tmp/deal.bpmn
"""
import sys

from SpiffWorkflow.bpmn.parser import BpmnParser, BpmnValidator

parser = BpmnParser(validator=BpmnValidator())
parser.add_bpmn_file(sys.argv[1])  # raises on XSD violations
for process_id in parser.get_process_ids():
    spec = parser.get_spec(process_id)
    print(f"{process_id}: XSD-valid, SpiffWorkflow parsed {len(spec.task_specs)} task specs")
