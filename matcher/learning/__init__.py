"""Learning from outcomes: training pairs, the learned ranker, ranking measures, evaluation
reports, the model registry, training with its card and promotion policy.

The sampling defaults live here so the command line can show them without importing
scikit-learn (see ``matcher.learning.pairs`` for what they mean).
"""

UNLABELLED_RATIO = 2.0  # never-contacted candidates sampled per labelled pair
UNLABELLED_WEIGHT = 0.5  # training weight of those grade-0 pairs
