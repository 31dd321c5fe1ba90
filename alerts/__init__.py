"""Crisis alerts: topics and sectors of the commune (territory/demo/alerts.yml), subscriptions
with the citizen's recorded consent, and the operator's broadcast through each subscriber's
channel (Messenger with Meta's notification_messages token, e-mail, SMS, the website).

Plain Python on core only: no Rasa. The conversation is in actions/alerts.py, the HTTP
endpoints in channels/alerts.py, the command in ops/broadcast.py.
"""
