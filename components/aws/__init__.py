"""The AWS side: the secrets, their key, rotation, reminders and the roles that use them."""
