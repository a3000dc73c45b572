"""The index: plain facts about each module and the project, no judgement."""
