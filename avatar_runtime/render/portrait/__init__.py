"""The embedded CPU portrait renderer: one photo, animated by the audio it speaks.

``prepare`` finds the face, mouth and eyes once (cached as a :class:`PortraitRig`);
``renderer.PortraitRenderer`` implements the ``Renderer`` protocol on top of it.
"""
