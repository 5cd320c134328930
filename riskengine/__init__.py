"""riskengine: supplier-risk scoring."""

import warnings

# pandera imports pyspark.pandas whenever pyspark is installed (the spark extra), which then
# warns that it does not support pandas 3. riskengine never uses pyspark.pandas (Spark scoring
# hands Arrow batches to the registered model), so the warning says nothing about its results.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
