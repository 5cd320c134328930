"""The buyers' page (``riskengine serve``): a command-line layer like :mod:`riskengine.cli`,
over the application's jobs (:mod:`riskengine.app.buyer_job`) and nothing of the domain.

Import :mod:`riskengine.web.server` for the app; this package's import stays light.
"""
