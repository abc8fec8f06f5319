"""Checks Kubernetes manifests against the API's object models, as strictly as the API server
does with kubectl's default field validation: every field must exist in its object's type
(a typo such as "hostNetwrok" would otherwise be dropped with a warning, and the agent would
run without the host's network namespace), every value must have its field's shape, and the
fields the API requires must be there.

The models are Debian's python3-kubernetes (the client of Kubernetes 1.22): a field added to
the API after 1.22 would be reported unknown here, which says to check it against a newer API.

  /usr/bin/python3 check-manifest-schema.py FILE...    exit 0 when every object passes
"""
import re
import sys

import yaml
from kubernetes import client

KINDS = {("apps/v1", "DaemonSet"): "V1DaemonSet", ("v1", "ConfigMap"): "V1ConfigMap"}
SCALARS = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def check(value, type_name, path, errors):
    """Appends to errors what in value does not fit the model type type_name."""
    inner = re.fullmatch(r"list\[(.*)\]", type_name)
    if inner:
        if not isinstance(value, list):
            errors.append(f"{path}: a list is expected, not {value!r}")
            return
        for i, item in enumerate(value):
            check(item, inner.group(1), f"{path}[{i}]", errors)
        return
    inner = re.fullmatch(r"dict\(str, (.*)\)", type_name)
    if inner:
        if not isinstance(value, dict):
            errors.append(f"{path}: a map is expected, not {value!r}")
            return
        for key, item in value.items():
            check(item, inner.group(1), f"{path}.{key}", errors)
        return
    if type_name in SCALARS:
        # bool is an int in Python: a boolean where a number belongs is wrong all the same
        if not isinstance(value, SCALARS[type_name]) or (type_name != "bool" and isinstance(value, bool)):
            errors.append(f"{path}: a {type_name} is expected, not {value!r}")
        return
    if type_name in ("object", "datetime", "date"):  # IntOrString, Quantity, times: free-form
        return
    model = getattr(client.models, type_name, None)
    if model is None:
        errors.append(f"{path}: no model for type {type_name}")
        return
    if not isinstance(value, dict):
        errors.append(f"{path}: an object ({type_name}) is expected, not {value!r}")
        return
    attribute_of = {json_name: attr for attr, json_name in model.attribute_map.items()}
    for key, item in value.items():
        if key not in attribute_of:
            errors.append(f"{path}.{key}: no such field in {type_name}")
            continue
        if item is not None:
            check(item, model.openapi_types[attribute_of[key]], f"{path}.{key}", errors)
    # the models' constructors refuse a missing required field
    try:
        model(**{attr: value.get(json_name) for attr, json_name in model.attribute_map.items()})
    except ValueError as e:
        errors.append(f"{path}: {e}")


def main(paths):
    failed = False
    checked = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            documents = list(yaml.safe_load_all(f))
        for doc in documents:
            if doc is None:
                continue
            where = f"{path}: {doc.get('kind')} {doc.get('metadata', {}).get('name')}"
            type_name = KINDS.get((doc.get("apiVersion"), doc.get("kind")))
            if type_name is None:
                print(f"FAIL: {where}: no model for apiVersion {doc.get('apiVersion')}, kind {doc.get('kind')}")
                failed = True
                continue
            errors = []
            check(doc, type_name, doc["kind"], errors)
            for e in errors:
                print(f"FAIL: {where}: {e}")
            failed |= bool(errors)
            checked += 1
    if checked == 0:
        print("FAIL: no object checked")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
