"""newsradar: streaming news monitoring.

This package holds only what the pipeline's stages share: the record schemas that cross Kafka,
settings, topic names, the local broker's lifecycle and the ``newsradar`` CLI. The stages
themselves live in ``producers/``, ``processors/`` and ``sinks/`` and talk through Kafka records.
"""

__version__ = "0.1.0"
