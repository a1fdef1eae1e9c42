"""MIDI → NoteSequence → DrumTrack → model-ready arrays, and the training corpora."""
