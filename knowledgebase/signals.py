"""What the knowledge base announces to the apps above it (which it may not import).

``faq_content_changed`` is sent after the commit of any change to the FAQs (create, edit,
publish, unpublish, delete, revert, import): ``avatars`` receives it to speak the new answers
ahead of time (the answer audio cache).
"""
from django.dispatch import Signal

faq_content_changed = Signal()
