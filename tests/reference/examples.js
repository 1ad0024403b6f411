// The reference's JavaScript examples: closeTicket as the Close Ticket page gives it, and
// the create, update and list calls of the other pages written the same way. They run
// unchanged under Node; the test only swaps the base URL for a local server's.
const axios = require('axios');

async function createTicket() {
  try {
    const response = await axios.post(
      'https://api.ayra.ai/v1/tickets',
      {
        subject: 'Duplicate billing charge needs refund',
        description: 'Customer was charged twice for order #12345...',
        priority: 2,
        category: 'billing',
        contact_id: 'contact_xyz789',
        conversation_id: 'conv_abc123xyz789',
        assigned_to: 'user_billing_specialist',
        tags: ['refund', 'duplicate_charge', 'urgent'],
        due_date: '2025-01-16T17:00:00Z'
      },
      {
        headers: {
          'Authorization': 'Bearer sk_live_abc123xyz789',
          'Content-Type': 'application/json'
        }
      }
    );
    console.log('Ticket created:', response.data.data.id);
    return response.data;
  } catch (error) {
    console.error('Error creating ticket:', error.response.data);
    throw error;
  }
}

async function updateTicket(ticketId, updates) {
  try {
    const response = await axios.put(
      `https://api.ayra.ai/v1/tickets/${ticketId}`,
      updates,
      {
        headers: {
          'Authorization': 'Bearer sk_live_abc123xyz789',
          'Content-Type': 'application/json'
        }
      }
    );
    return response.data;
  } catch (error) {
    console.error('Error updating ticket:', error.response.data);
    throw error;
  }
}

async function listTickets(params) {
  try {
    const response = await axios.get('https://api.ayra.ai/v1/tickets', {
      params,
      headers: {
        'Authorization': 'Bearer sk_live_abc123xyz789',
        'Content-Type': 'application/json'
      }
    });
    return response.data;
  } catch (error) {
    console.error('Error listing tickets:', error.response.data);
    throw error;
  }
}

async function closeTicket(ticketId, resolutionDetails) {
  try {
    const response = await axios.put(
      `https://api.ayra.ai/v1/tickets/${ticketId}/close`,
      resolutionDetails,
      {
        headers: {
          'Authorization': 'Bearer sk_live_abc123xyz789',
          'Content-Type': 'application/json'
        }
      }
    );
    console.log('Ticket closed:', ticketId);
    return response.data;
  } catch (error) {
    console.error('Error closing ticket:', error.response.data);
    throw error;
  }
}

async function main() {
  const created = await createTicket();
  await updateTicket('ticket_abc123xyz789', {
    status: 'in_progress',
    assigned_to: 'user_jane_smith',
    internal_note: 'Contacted customer to verify refund amount.'
  });
  await updateTicket('ticket_abc123xyz789', {
    status: 'resolved',
    internal_note: 'Refund processed successfully.'
  });
  const all = await listTickets();
  const urgent = await listTickets({ status: 'open', priority: 2, sort_by: 'due_date', sort_order: 'asc' });
  const breached = await listTickets({ sla_breach: 'true', status: 'open' });
  const closed = await closeTicket('ticket_abc123xyz789', {
    resolution_note: 'Issue resolved. Customer satisfied.',
    customer_satisfaction: 9,
    root_cause: 'user_error'
  });
  let refused = null;
  try {
    await closeTicket('ticket_abc123xyz789', { resolution_note: 'again' });
  } catch (error) {
    refused = { status: error.response.status, body: error.response.data };
  }
  process.stdout.write(JSON.stringify({ created, all, urgent, breached, closed, refused }) + '\n');
}

main().catch(() => process.exit(1));
