"""Data: data collections, screening and processing results linked to samples and sessions.

models.py      DataCollectionGroup, DataCollection, ScreeningResult (+ strategy rows), ProcessingResult
               (+ shells), Tag, DownloadCart
selectors.py   who sees which collections (scoped by the denormalised proposal)
"""
