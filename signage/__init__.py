"""Waiting-area screens: playlists of slides, the now-serving column and announced calls."""
