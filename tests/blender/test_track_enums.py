"""The Track panel's menus list the vocabulary's names (engine/vocabulary.py), nothing else."""

from __future__ import annotations

import bpy

from spectralsplats_addon.engine.vocabulary import (DEVICE_TEXT, DEVICES, LOSS_TEXT, LOSSES,
                                                    MODEL_TEXT, MODELS, PRESET_TEXT, PRESETS)


def test_the_track_settings_enums_come_from_the_vocabulary(addon):
    properties = bpy.context.scene.spectralsplats_track.bl_rna.properties
    for prop, names, text in (("model", MODELS, MODEL_TEXT), ("loss", LOSSES, LOSS_TEXT),
                              ("preset", PRESETS, PRESET_TEXT),
                              ("device", DEVICES, DEVICE_TEXT)):
        items = properties[prop].enum_items
        assert {item.identifier for item in items} == set(names), prop
        assert [(item.identifier, item.name, item.description) for item in items] == \
            [(name, label, description) for name, (label, description) in text.items()], prop
