# The reference's Python examples: close_ticket as the Close Ticket page gives it, and the
# create, update and list calls of the other pages written the same way. They run
# unchanged; a test only swaps the base URL when it points them at a local server.
import requests


def create_ticket():
    url = 'https://api.ayra.ai/v1/tickets'
    headers = {
        'Authorization': 'Bearer sk_live_abc123xyz789',
        'Content-Type': 'application/json'
    }
    data = {
        'subject': 'Duplicate billing charge needs refund',
        'description': 'Customer was charged twice for order #12345...',
        'priority': 2,
        'category': 'billing',
        'contact_id': 'contact_xyz789',
        'conversation_id': 'conv_abc123xyz789',
        'assigned_to': 'user_billing_specialist',
        'tags': ['refund', 'duplicate_charge', 'urgent'],
        'due_date': '2025-01-16T17:00:00Z'
    }
    response = requests.post(url, json=data, headers=headers)
    if response.status_code == 201:
        ticket = response.json()
        print(f"Ticket created: {ticket['data']['id']}")
        return ticket
    else:
        print('Error:', response.json())
        raise Exception(f'Failed to create ticket: {response.status_code}')


def update_ticket(ticket_id, updates):
    url = f'https://api.ayra.ai/v1/tickets/{ticket_id}'
    headers = {
        'Authorization': 'Bearer sk_live_abc123xyz789',
        'Content-Type': 'application/json'
    }
    response = requests.put(url, json=updates, headers=headers)
    if response.status_code == 200:
        return response.json()
    else:
        print('Error:', response.json())
        raise Exception(f'Failed to update ticket: {response.status_code}')


def list_tickets(params=None):
    url = 'https://api.ayra.ai/v1/tickets'
    headers = {
        'Authorization': 'Bearer sk_live_abc123xyz789',
        'Content-Type': 'application/json'
    }
    response = requests.get(url, params=params, headers=headers)
    if response.status_code == 200:
        return response.json()
    else:
        print('Error:', response.json())
        raise Exception(f'Failed to list tickets: {response.status_code}')


def close_ticket(ticket_id, resolution_note, customer_satisfaction=None, root_cause=None):
    url = f'https://api.ayra.ai/v1/tickets/{ticket_id}/close'
    headers = {
        'Authorization': 'Bearer sk_live_abc123xyz789',
        'Content-Type': 'application/json'
    }
    data = {
        'resolution_note': resolution_note
    }
    if customer_satisfaction:
        data['customer_satisfaction'] = customer_satisfaction
    if root_cause:
        data['root_cause'] = root_cause
    response = requests.put(url, json=data, headers=headers)
    if response.status_code == 200:
        ticket = response.json()
        print(f"Ticket {ticket_id} closed successfully")
        return ticket
    else:
        print('Error:', response.json())
        raise Exception(f'Failed to close ticket: {response.status_code}')


def run_all():
    """The pages' calls in a row, as an integration would make them."""
    created = create_ticket()
    update_ticket('ticket_abc123xyz789', {
        'status': 'in_progress',
        'assigned_to': 'user_jane_smith',
        'internal_note': 'Contacted customer to verify refund amount.'
    })
    update_ticket('ticket_abc123xyz789', {
        'status': 'resolved',
        'internal_note': 'Refund processed successfully.'
    })
    everything = list_tickets()
    urgent = list_tickets({'status': 'open', 'priority': 2, 'sort_by': 'due_date', 'sort_order': 'asc'})
    breached = list_tickets({'sla_breach': 'true', 'status': 'open'})
    closed = close_ticket(
        'ticket_abc123xyz789',
        resolution_note='Refund processed. Customer confirmed satisfaction.',
        customer_satisfaction=10,
        root_cause='billing_error'
    )
    return {'created': created, 'all': everything, 'urgent': urgent, 'breached': breached, 'closed': closed}
