"""The stack's `pulumi up`s rehearsed against an AWS API emulator."""
