"""Networks built from vision_ext.nn blocks."""
