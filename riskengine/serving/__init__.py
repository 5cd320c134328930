"""Serving the registered model outside the command line: :mod:`~riskengine.serving.pyfunc`,
the full scorer MLflow loads (``mlflow.pyfunc.load_model``, ``mlflow models serve``)."""
