"""Live updates of Django models over one WebSocket, as Redux-shaped events.

A model becomes subscribable by inheriting `realtime.mixins.Subscribable`, declaring a
`FieldTracker` and the representations it is shown in (see README, "Making a model
subscribable").
"""
