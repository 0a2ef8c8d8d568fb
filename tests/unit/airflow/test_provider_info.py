"""The provider as Airflow sees it: entry point, schema, discovery, and the engine/Airflow boundary."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from importlib import metadata, resources

import jsonschema
from packaging.utils import canonicalize_name

from airflow_provider_tidb_lightning import TIDB_CONN_FIELDS, __version__, get_provider_info

PACKAGE = "airflow-provider-tidb-lightning"
AIRFLOW_LAYER = ("hooks", "operators", "sensors", "triggers")


def airflow_schema(name: str) -> dict:
    return json.loads((resources.files("airflow") / name).read_text())


def test_entry_point_returns_this_provider() -> None:
    (entry_point,) = [ep for ep in metadata.entry_points(group="apache_airflow_provider")
                      if ep.value.startswith("airflow_provider_tidb_lightning:")]
    info = entry_point.load()()
    assert info["package-name"] == canonicalize_name(entry_point.dist.metadata["Name"]) == PACKAGE
    assert info["versions"] == [__version__] == [metadata.version(PACKAGE)]


def test_matches_airflow_runtime_schema() -> None:
    jsonschema.validate(get_provider_info(), airflow_schema("provider_info.schema.json"))


def test_connection_form_matches_the_strict_provider_yaml_schema() -> None:
    """The runtime schema lets anything through; the strict one checks the form declarations."""
    strict = airflow_schema("provider.yaml.schema.json")["properties"]["connection-types"]
    jsonschema.validate(get_provider_info()["connection-types"], strict)


def test_every_listed_module_imports() -> None:
    info = get_provider_info()
    modules = [module for section in ("hooks", "operators", "sensors", "triggers")
               for entry in info[section] for module in entry["python-modules"]]
    assert len(modules) == 6
    for module in modules:
        importlib.import_module(module)
    for conn_type in info["connection-types"]:
        module, _, cls = conn_type["hook-class-name"].rpartition(".")
        hook = getattr(importlib.import_module(module), cls)
        assert hook.conn_type == conn_type["connection-type"] and hook.hook_name == conn_type["hook-name"]


def test_task_runtime_finds_the_hook() -> None:
    """What ``Connection.get_hook()`` uses inside a running task."""
    from tests.support.airflow_compat import runtime_hooks

    hook = runtime_hooks()["tidb"]
    assert hook is not None
    assert (hook.hook_class_name, hook.connection_id_attribute_name, hook.hook_name) == (
        "airflow_provider_tidb_lightning.hooks.tidb.TiDBHook", "tidb_conn_id", "TiDB")


def test_providers_manager_lists_provider_and_form() -> None:
    """What ``airflow providers list`` and the connection form in the UI read."""
    from airflow.providers_manager import ProvidersManager

    from tests.support.airflow_compat import AIRFLOW_V_3

    manager = ProvidersManager()
    assert manager.providers[PACKAGE].version == __version__
    assert manager.field_behaviours["tidb"]["relabeling"]["schema"] == "Default database"
    status_port = manager.connection_form_widgets["extra__tidb__status_port"]
    # Airflow 3 builds the field from conn-fields (a dict); 2.11 from the hook's WTForms field.
    default = status_port.field["value"] if AIRFLOW_V_3 else status_port.field.kwargs["default"]
    assert default == 10080 and not status_port.is_sensitive
    assert {f"extra__tidb__{name}" for name in TIDB_CONN_FIELDS} <= set(manager.connection_form_widgets)


def test_airflow_layer_is_the_packages_provider_info_lists() -> None:
    """AIRFLOW_LAYER (what the boundary test below exempts) is exactly the package's Airflow side.

    The package holds the engine (``lightning``) and the four Airflow packages, nothing else; each of
    the four is a section of ``get_provider_info`` whose modules all live in that package.
    """
    import airflow_provider_tidb_lightning as root

    base = resources.files(root)
    packages = {p.name for p in base.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert packages == {"lightning", *AIRFLOW_LAYER}
    info = get_provider_info()
    for layer in AIRFLOW_LAYER:
        modules = [module for entry in info[layer] for module in entry["python-modules"]]
        assert modules and all(m.startswith(f"{root.__name__}.{layer}.") for m in modules), (layer, modules)


def test_engine_does_not_import_airflow() -> None:
    """Everything outside hooks/operators/sensors/triggers must run where Airflow is not installed."""
    script = f"""
import importlib, pathlib, sys
import airflow_provider_tidb_lightning as root
base = pathlib.Path(root.__file__).parent
for path in sorted(base.rglob("*.py")):
    parts = path.relative_to(base).with_suffix("").parts
    if parts[0] in {AIRFLOW_LAYER!r} or parts[-1] == "__main__":
        continue
    name = ".".join((root.__name__, *(parts[:-1] if parts[-1] == "__init__" else parts)))
    importlib.import_module(name)
    if any(loaded == "airflow" or loaded.startswith("airflow.") for loaded in sys.modules):
        sys.exit(f"{{name}} imports Airflow")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
