# The reference's curl examples: the Close Ticket page's call as given, and the create,
# update and list calls of the other pages in the same form. BASE is the only change.
BASE="${BASE:-https://api.ayra.ai}"

curl -X POST $BASE/v1/tickets \
-H "Authorization: Bearer sk_live_abc123xyz789" \
-H "Content-Type: application/json" \
-d '{
"subject": "Duplicate billing charge needs refund",
"description": "Customer was charged twice for order #12345...",
"priority": 2,
"category": "billing",
"contact_id": "contact_xyz789",
"conversation_id": "conv_abc123xyz789",
"assigned_to": "user_billing_specialist",
"tags": ["refund", "duplicate_charge", "urgent"],
"due_date": "2025-01-16T17:00:00Z"
}'
echo

curl -X PUT $BASE/v1/tickets/ticket_abc123xyz789 \
-H "Authorization: Bearer sk_live_abc123xyz789" \
-H "Content-Type: application/json" \
-d '{
"status": "in_progress",
"assigned_to": "user_jane_smith",
"internal_note": "Contacted customer to verify refund amount."
}'
echo

curl -X GET "$BASE/v1/tickets?status=open&priority=2&sort_by=due_date&sort_order=asc" \
-H "Authorization: Bearer sk_live_abc123xyz789" \
-H "Content-Type: application/json"
echo

curl -X PUT $BASE/v1/tickets/ticket_abc123xyz789/close \
-H "Authorization: Bearer sk_live_abc123xyz789" \
-H "Content-Type: application/json" \
-d '{
"resolution_note": "Refund of $99.99 processed successfully...",
"customer_satisfaction": 9,
"root_cause": "system_error"
}'
echo
