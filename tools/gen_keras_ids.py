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
        except Exception:
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
        from tf_keras.src import losses as k2_losses
        from tf_keras.src import metrics as k2_metrics

        # ``get`` looks names up in the implementation module's globals, which also hold
        # aliases the public API does not export (``bce = BCE = binary_crossentropy``): a name
        # of the module counts when it is another name of a public loss or metric (not an
        # import such as ``tf`` or a helper, which ``get`` would return as well).
        junk = {"get", "serialize", "deserialize", "experimental"}
        for table, api, source in (
            ("K2_LOSSES", tf_keras.losses, k2_losses),
            ("K2_METRICS", tf_keras.metrics, k2_metrics),
        ):
            public = [n for n in dir(api) if not n.startswith("_") and n not in junk]
            found, _ = accepted(api.get, public)
            objects = [getattr(api, n) for n in found]
            aliases = [
                n
                for n in dir(source)
                if not n.startswith("_")
                and n not in found
                and any(getattr(source, n) is o for o in objects)
            ]
            tables[table] = sorted([*found, *accepted(api.get, aliases)[0]])
    print(json.dumps(tables, indent=2))


if __name__ == "__main__":
    main()
