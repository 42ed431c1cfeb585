"""Django admin (admins only): venues, for their hand-off alerts (e-mail, webhook), which the console
does not edit yet."""
from django.contrib import admin

from kiosk.models import Venue


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ("name", "address", "handoff_emails", "handoff_webhook_url")
    fields = ("name", "address", "handoff_emails", "handoff_webhook_url", "handoff_webhook_secret")
