"""Django admin (admins only): venues, which the console's Venues page also edits (time zone,
hand-off alerts by e-mail and webhook)."""
from django.contrib import admin

from kiosk.models import Venue


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ("name", "address", "time_zone", "handoff_emails", "handoff_webhook_url")
    fields = ("name", "address", "time_zone", "handoff_emails", "handoff_webhook_url", "handoff_webhook_secret")
