"""Reference answers of the audit test course."""

ANSWERS = {"loss_for_two_classes": "BCELoss"}
