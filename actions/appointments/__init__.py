"""Identity-document appointments and identity-document information in the chat.

- reading.py   what a citizen's message says (document, head count, pre-application
               numbers, references, a picked slot): plain parsers, no database
- context.py   the booking rules of the commune, values shown to citizens, own appointments
- ants_sync.py the two calls that tell ANTS about a booking (declare, withdraw)
- slots.py     the slots offered (with paging and « Un autre jour ») and the date answers
- book.py      the booking form: its questions, its reading of answers, its end
- manage.py    list, cancel and move an appointment (own, or by reference + surname)
- id_documents.py  CNI / passport information by sub-topic
- cards.py     the Messenger card of a confirmed appointment

Every sentence a citizen reads is a response of domain/appointments.yml; the national
facts (fees, delays, official pages) come from territory/national_facts.yml.
"""
