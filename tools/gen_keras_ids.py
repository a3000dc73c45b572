"""Regenerate the string-id tables of ``losslint/index/keras_ids.py`` from installed Keras.

Run with keras 3 (and tf_keras for the Keras 2 tables) installed:
``python tools/gen_keras_ids.py > /tmp/ids.json``; the tables are then pasted in by hand,
so a Keras upgrade is a reviewed change. Static mode never imports Keras.
"""

from __future__ import annotations

import json
import warnings


def accepted(get, names):  # type: ignore[no-untyped-def]
    ok, need_args = [], []
    for name in sorted(names):
        try:
            get(name)
            ok.append(name)
        except TypeError:  # the class exists but needs constructor arguments
            need_args.append(name)
        except Exception:  # noqa: BLE001 - anything else means "not an identifier"
            pass
    return ok, need_args


def main() -> None:
    warnings.filterwarnings("ignore")
    import keras
    from keras.src import losses, metrics

    k3_losses, _ = accepted(keras.losses.get, losses.ALL_OBJECTS_DICT)
    k3_metrics, need_args = accepted(keras.metrics.get, metrics.ALL_OBJECTS_DICT)
    tables = {"K3_LOSSES": k3_losses, "K3_METRICS": k3_metrics, "K3_METRICS_NEED_ARGS": need_args}
    try:
        import tf_keras
    except ImportError:
        pass
    else:
        junk = {"get", "serialize", "deserialize", "experimental"}
        public = [n for n in dir(tf_keras.losses) if not n.startswith("_") and n not in junk]
        tables["K2_LOSSES"], _ = accepted(tf_keras.losses.get, public)
        public = [n for n in dir(tf_keras.metrics) if not n.startswith("_") and n not in junk]
        tables["K2_METRICS"], _ = accepted(tf_keras.metrics.get, public)
    print(json.dumps(tables, indent=2))


if __name__ == "__main__":
    main()
