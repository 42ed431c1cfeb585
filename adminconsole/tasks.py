"""Background jobs of the console."""

from celery import shared_task

from adminconsole.password_links import password_forgot_mail


@shared_task(name="adminconsole.tasks.password_forgot_mail")
def password_forgot_mail_task(email: str, address: str, base_url: str) -> int:
    """A "forgot password" mail, sent off the request so its duration tells nothing about the address."""
    return password_forgot_mail(email=email, address=address, base_url=base_url)
