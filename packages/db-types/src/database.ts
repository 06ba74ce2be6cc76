
export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[]

export type Database = {
  
  "public": {
          Tables: {
            "cashouts": {
                  Row: {
                    "account_id": string,"amount": number,"created_at": string,"currency": string,"hold_id": string,"id": string,"idempotency_key": string,"last_sent_at": string | null,"msisdn": string,"reason": string | null,"reference_id": string,"resolution_reason": string | null,"resolved_by": string | null,"sending_closed_at": string | null,"settled_at": string | null,"status": string,"updated_at": string,"user_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "account_id": string,"amount": number,"created_at"?: string,"currency": string,"hold_id": string,"id"?: string,"idempotency_key": string,"last_sent_at"?: string | null,"msisdn": string,"reason"?: string | null,"reference_id"?: string,"resolution_reason"?: string | null,"resolved_by"?: string | null,"sending_closed_at"?: string | null,"settled_at"?: string | null,"status"?: string,"updated_at"?: string,"user_id": string
                  }
                  Update: {
                    "account_id"?: string,"amount"?: number,"created_at"?: string,"currency"?: string,"hold_id"?: string,"id"?: string,"idempotency_key"?: string,"last_sent_at"?: string | null,"msisdn"?: string,"reason"?: string | null,"reference_id"?: string,"resolution_reason"?: string | null,"resolved_by"?: string | null,"sending_closed_at"?: string | null,"settled_at"?: string | null,"status"?: string,"updated_at"?: string,"user_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "cashouts_account_id_fkey"
      columns: ["account_id"]
isOneToOne: false
      referencedRelation: "wallet_account_balances"
      referencedColumns: ["account_id"]
    },{
      foreignKeyName: "cashouts_account_id_fkey"
      columns: ["account_id"]
isOneToOne: false
      referencedRelation: "wallet_accounts"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "cashouts_hold_id_fkey"
      columns: ["hold_id"]
isOneToOne: true
      referencedRelation: "wallet_transactions"
      referencedColumns: ["id"]
    }
                  ]
                },"invoices": {
                  Row: {
                    "amount_due": number,"amount_paid": number,"created_at": string,"currency": string,"id": string,"last_event_at": string | null,"raw": NonNullable<Json>,"status": string,"stripe_customer_id": string,"stripe_invoice_id": string,"stripe_subscription_id": string | null,"updated_at": string,"user_id": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "amount_due"?: number,"amount_paid"?: number,"created_at"?: string,"currency": string,"id"?: string,"last_event_at"?: string | null,"raw"?: NonNullable<Json>,"status": string,"stripe_customer_id": string,"stripe_invoice_id": string,"stripe_subscription_id"?: string | null,"updated_at"?: string,"user_id"?: string | null
                  }
                  Update: {
                    "amount_due"?: number,"amount_paid"?: number,"created_at"?: string,"currency"?: string,"id"?: string,"last_event_at"?: string | null,"raw"?: NonNullable<Json>,"status"?: string,"stripe_customer_id"?: string,"stripe_invoice_id"?: string,"stripe_subscription_id"?: string | null,"updated_at"?: string,"user_id"?: string | null
                  }
                  Relationships: [
                    
                  ]
                },"momo_transactions": {
                  Row: {
                    "amount": number,"created_at": string,"currency": string,"external_id": string | null,"financial_transaction_id": string | null,"id": string,"intent_id": string | null,"payer_msisdn": string | null,"raw_callback": NonNullable<Json>,"reason": string | null,"reference_id": string,"status": string,"updated_at": string,"user_id": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "amount": number,"created_at"?: string,"currency": string,"external_id"?: string | null,"financial_transaction_id"?: string | null,"id"?: string,"intent_id"?: string | null,"payer_msisdn"?: string | null,"raw_callback"?: NonNullable<Json>,"reason"?: string | null,"reference_id": string,"status"?: string,"updated_at"?: string,"user_id"?: string | null
                  }
                  Update: {
                    "amount"?: number,"created_at"?: string,"currency"?: string,"external_id"?: string | null,"financial_transaction_id"?: string | null,"id"?: string,"intent_id"?: string | null,"payer_msisdn"?: string | null,"raw_callback"?: NonNullable<Json>,"reason"?: string | null,"reference_id"?: string,"status"?: string,"updated_at"?: string,"user_id"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "momo_transactions_intent_id_fkey"
      columns: ["intent_id"]
isOneToOne: false
      referencedRelation: "payment_intents"
      referencedColumns: ["id"]
    }
                  ]
                },"payment_intents": {
                  Row: {
                    "account_id": string,"amount": number,"created_at": string,"created_by": string | null,"currency": string,"failure_reason": string | null,"id": string,"idempotency_key": string,"provider": string,"provider_ref": string | null,"status": string,"updated_at": string,"user_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "account_id": string,"amount": number,"created_at"?: string,"created_by"?: string | null,"currency": string,"failure_reason"?: string | null,"id"?: string,"idempotency_key": string,"provider": string,"provider_ref"?: string | null,"status"?: string,"updated_at"?: string,"user_id": string
                  }
                  Update: {
                    "account_id"?: string,"amount"?: number,"created_at"?: string,"created_by"?: string | null,"currency"?: string,"failure_reason"?: string | null,"id"?: string,"idempotency_key"?: string,"provider"?: string,"provider_ref"?: string | null,"status"?: string,"updated_at"?: string,"user_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "payment_intents_account_id_fkey"
      columns: ["account_id"]
isOneToOne: false
      referencedRelation: "wallet_account_balances"
      referencedColumns: ["account_id"]
    },{
      foreignKeyName: "payment_intents_account_id_fkey"
      columns: ["account_id"]
isOneToOne: false
      referencedRelation: "wallet_accounts"
      referencedColumns: ["id"]
    }
                  ]
                },"payments": {
                  Row: {
                    "amount": number,"amount_refunded": number,"created_at": string,"currency": string,"fee": number,"id": string,"intent_id": string | null,"provider": string,"provider_payment_id": string,"raw": NonNullable<Json>,"resolution": string | null,"resolution_reason": string | null,"resolved_at": string | null,"resolved_by": string | null,"review_reason": string | null,"status": string,"updated_at": string,"user_id": string | null,"wallet_transaction_id": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "amount": number,"amount_refunded"?: number,"created_at"?: string,"currency": string,"fee"?: number,"id"?: string,"intent_id"?: string | null,"provider": string,"provider_payment_id": string,"raw"?: NonNullable<Json>,"resolution"?: string | null,"resolution_reason"?: string | null,"resolved_at"?: string | null,"resolved_by"?: string | null,"review_reason"?: string | null,"status": string,"updated_at"?: string,"user_id"?: string | null,"wallet_transaction_id"?: string | null
                  }
                  Update: {
                    "amount"?: number,"amount_refunded"?: number,"created_at"?: string,"currency"?: string,"fee"?: number,"id"?: string,"intent_id"?: string | null,"provider"?: string,"provider_payment_id"?: string,"raw"?: NonNullable<Json>,"resolution"?: string | null,"resolution_reason"?: string | null,"resolved_at"?: string | null,"resolved_by"?: string | null,"review_reason"?: string | null,"status"?: string,"updated_at"?: string,"user_id"?: string | null,"wallet_transaction_id"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "payments_intent_id_fkey"
      columns: ["intent_id"]
isOneToOne: false
      referencedRelation: "payment_intents"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "payments_wallet_transaction_id_fkey"
      columns: ["wallet_transaction_id"]
isOneToOne: false
      referencedRelation: "wallet_transactions"
      referencedColumns: ["id"]
    }
                  ]
                },"refunds": {
                  Row: {
                    "amount": number,"borne_by_platform": boolean,"created_at": string,"created_by": string | null,"currency": string,"forced": boolean,"id": string,"last_sent_at": string | null,"owed_to_closed_account": boolean,"paid_out_amount": number | null,"paid_out_at": string | null,"paid_out_by": string | null,"paid_out_transaction_id": string | null,"payment_id": string,"payout_method": string | null,"payout_reason": string | null,"payout_reference": string | null,"provider": string,"provider_refund_id": string,"reason": string | null,"refund_request_id": string | null,"resolution_reason": string | null,"resolved_by": string | null,"sending_closed_at": string | null,"status": string,"updated_at": string,"user_id": string | null,"wallet_transaction_id": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "amount": number,"borne_by_platform"?: boolean,"created_at"?: string,"created_by"?: string | null,"currency": string,"forced"?: boolean,"id"?: string,"last_sent_at"?: string | null,"owed_to_closed_account"?: boolean,"paid_out_amount"?: number | null,"paid_out_at"?: string | null,"paid_out_by"?: string | null,"paid_out_transaction_id"?: string | null,"payment_id": string,"payout_method"?: string | null,"payout_reason"?: string | null,"payout_reference"?: string | null,"provider": string,"provider_refund_id": string,"reason"?: string | null,"refund_request_id"?: string | null,"resolution_reason"?: string | null,"resolved_by"?: string | null,"sending_closed_at"?: string | null,"status": string,"updated_at"?: string,"user_id"?: string | null,"wallet_transaction_id"?: string | null
                  }
                  Update: {
                    "amount"?: number,"borne_by_platform"?: boolean,"created_at"?: string,"created_by"?: string | null,"currency"?: string,"forced"?: boolean,"id"?: string,"last_sent_at"?: string | null,"owed_to_closed_account"?: boolean,"paid_out_amount"?: number | null,"paid_out_at"?: string | null,"paid_out_by"?: string | null,"paid_out_transaction_id"?: string | null,"payment_id"?: string,"payout_method"?: string | null,"payout_reason"?: string | null,"payout_reference"?: string | null,"provider"?: string,"provider_refund_id"?: string,"reason"?: string | null,"refund_request_id"?: string | null,"resolution_reason"?: string | null,"resolved_by"?: string | null,"sending_closed_at"?: string | null,"status"?: string,"updated_at"?: string,"user_id"?: string | null,"wallet_transaction_id"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "refunds_paid_out_transaction_id_fkey"
      columns: ["paid_out_transaction_id"]
isOneToOne: true
      referencedRelation: "wallet_transactions"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "refunds_payment_id_fkey"
      columns: ["payment_id"]
isOneToOne: false
      referencedRelation: "payments"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "refunds_wallet_transaction_id_fkey"
      columns: ["wallet_transaction_id"]
isOneToOne: false
      referencedRelation: "wallet_transactions"
      referencedColumns: ["id"]
    }
                  ]
                },"revolut_transactions": {
                  Row: {
                    "amount": number | null,"created_at": string,"currency": string | null,"event": string | null,"id": string,"intent_id": string | null,"kind": string,"raw_payload": NonNullable<Json>,"revolut_id": string,"state": string,"updated_at": string,"user_id": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "amount"?: number | null,"created_at"?: string,"currency"?: string | null,"event"?: string | null,"id"?: string,"intent_id"?: string | null,"kind"?: string,"raw_payload"?: NonNullable<Json>,"revolut_id": string,"state": string,"updated_at"?: string,"user_id"?: string | null
                  }
                  Update: {
                    "amount"?: number | null,"created_at"?: string,"currency"?: string | null,"event"?: string | null,"id"?: string,"intent_id"?: string | null,"kind"?: string,"raw_payload"?: NonNullable<Json>,"revolut_id"?: string,"state"?: string,"updated_at"?: string,"user_id"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "revolut_transactions_intent_id_fkey"
      columns: ["intent_id"]
isOneToOne: false
      referencedRelation: "payment_intents"
      referencedColumns: ["id"]
    }
                  ]
                },"subscriptions": {
                  Row: {
                    "cancel_at_period_end": boolean,"created_at": string,"current_period_end": string | null,"current_period_start": string | null,"id": string,"last_event_at": string | null,"price_id": string | null,"raw": NonNullable<Json>,"status": string,"stripe_customer_id": string,"stripe_subscription_id": string,"updated_at": string,"user_id": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "cancel_at_period_end"?: boolean,"created_at"?: string,"current_period_end"?: string | null,"current_period_start"?: string | null,"id"?: string,"last_event_at"?: string | null,"price_id"?: string | null,"raw"?: NonNullable<Json>,"status": string,"stripe_customer_id": string,"stripe_subscription_id": string,"updated_at"?: string,"user_id"?: string | null
                  }
                  Update: {
                    "cancel_at_period_end"?: boolean,"created_at"?: string,"current_period_end"?: string | null,"current_period_start"?: string | null,"id"?: string,"last_event_at"?: string | null,"price_id"?: string | null,"raw"?: NonNullable<Json>,"status"?: string,"stripe_customer_id"?: string,"stripe_subscription_id"?: string,"updated_at"?: string,"user_id"?: string | null
                  }
                  Relationships: [
                    
                  ]
                },"wallet_accounts": {
                  Row: {
                    "allow_negative": boolean,"available": number,"balance": number,"balance_shards": number,"code": string | null,"created_at": string,"currency": string,"id": string,"kind": string,"limit_tier": string,"owner_id": string | null,"status": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "allow_negative"?: boolean,"available"?: number,"balance"?: number,"balance_shards"?: number,"code"?: string | null,"created_at"?: string,"currency": string,"id"?: string,"kind": string,"limit_tier"?: string,"owner_id"?: string | null,"status"?: string,"updated_at"?: string
                  }
                  Update: {
                    "allow_negative"?: boolean,"available"?: number,"balance"?: number,"balance_shards"?: number,"code"?: string | null,"created_at"?: string,"currency"?: string,"id"?: string,"kind"?: string,"limit_tier"?: string,"owner_id"?: string | null,"status"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "wallet_accounts_limit_tier_fkey"
      columns: ["limit_tier"]
isOneToOne: false
      referencedRelation: "wallet_limit_tiers"
      referencedColumns: ["tier"]
    }
                  ]
                },"wallet_balance_shards": {
                  Row: {
                    "account_id": string,"balance": number,"id": number,"shard": number,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "account_id": string,"balance"?: number,"id"?: never,"shard": number,"updated_at"?: string
                  }
                  Update: {
                    "account_id"?: string,"balance"?: number,"id"?: never,"shard"?: number,"updated_at"?: string
                  }
                  Relationships: [
                    
                  ]
                },"wallet_entries": {
                  Row: {
                    "account_id": string,"amount": number,"created_at": string,"id": number,"transaction_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "account_id": string,"amount": number,"created_at"?: string,"id"?: number,"transaction_id": string
                  }
                  Update: {
                    "account_id"?: string,"amount"?: number,"created_at"?: string,"id"?: number,"transaction_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "wallet_entries_transaction_id_fkey"
      columns: ["transaction_id"]
isOneToOne: false
      referencedRelation: "wallet_transactions"
      referencedColumns: ["id"]
    }
                  ]
                },"wallet_limit_tiers": {
                  Row: {
                    "tier": string
                  }
                  ComputedFields: never
                  Insert: {
                    "tier": string
                  }
                  Update: {
                    "tier"?: string
                  }
                  Relationships: [
                    
                  ]
                },"wallet_status_reasons": {
                  Row: {
                    "account_id": string,"reason": string,"status": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "account_id": string,"reason": string,"status": string,"updated_at"?: string
                  }
                  Update: {
                    "account_id"?: string,"reason"?: string,"status"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "wallet_status_reasons_account_id_fkey"
      columns: ["account_id"]
isOneToOne: true
      referencedRelation: "wallet_account_balances"
      referencedColumns: ["account_id"]
    },{
      foreignKeyName: "wallet_status_reasons_account_id_fkey"
      columns: ["account_id"]
isOneToOne: true
      referencedRelation: "wallet_accounts"
      referencedColumns: ["id"]
    }
                  ]
                },"wallet_tier_limits": {
                  Row: {
                    "currency": string,"id": string,"max_daily": number,"max_per_hour": number,"max_single": number,"tier": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "currency": string,"id"?: string,"max_daily": number,"max_per_hour": number,"max_single": number,"tier": string,"updated_at"?: string
                  }
                  Update: {
                    "currency"?: string,"id"?: string,"max_daily"?: number,"max_per_hour"?: number,"max_single"?: number,"tier"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "wallet_tier_limits_tier_fkey"
      columns: ["tier"]
isOneToOne: false
      referencedRelation: "wallet_limit_tiers"
      referencedColumns: ["tier"]
    }
                  ]
                },"wallet_transactions": {
                  Row: {
                    "actor_app_role": string | null,"actor_id": string | null,"actor_role": string,"amount": number,"audit_id": number,"capture_idempotency_key": string | null,"client_ip": unknown,"correlation_id": string | null,"created_at": string,"currency": string,"description": string | null,"expires_at": string | null,"from_account_id": string,"hold_amount": number | null,"id": string,"idempotency_key": string,"initiated_by": string | null,"kind": string,"metadata": NonNullable<Json>,"posted_at": string | null,"reverses_id": string | null,"session_id": string | null,"status": string,"to_account_id": string | null,"txid": number,"user_agent": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "actor_app_role"?: string | null,"actor_id"?: string | null,"actor_role"?: string,"amount": number,"audit_id"?: number,"capture_idempotency_key"?: string | null,"client_ip"?: unknown,"correlation_id"?: string | null,"created_at"?: string,"currency": string,"description"?: string | null,"expires_at"?: string | null,"from_account_id": string,"hold_amount"?: number | null,"id"?: string,"idempotency_key": string,"initiated_by"?: string | null,"kind": string,"metadata"?: NonNullable<Json>,"posted_at"?: string | null,"reverses_id"?: string | null,"session_id"?: string | null,"status": string,"to_account_id"?: string | null,"txid"?: number,"user_agent"?: string | null
                  }
                  Update: {
                    "actor_app_role"?: string | null,"actor_id"?: string | null,"actor_role"?: string,"amount"?: number,"audit_id"?: number,"capture_idempotency_key"?: string | null,"client_ip"?: unknown,"correlation_id"?: string | null,"created_at"?: string,"currency"?: string,"description"?: string | null,"expires_at"?: string | null,"from_account_id"?: string,"hold_amount"?: number | null,"id"?: string,"idempotency_key"?: string,"initiated_by"?: string | null,"kind"?: string,"metadata"?: NonNullable<Json>,"posted_at"?: string | null,"reverses_id"?: string | null,"session_id"?: string | null,"status"?: string,"to_account_id"?: string | null,"txid"?: number,"user_agent"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "wallet_transactions_reverses_id_fkey"
      columns: ["reverses_id"]
isOneToOne: false
      referencedRelation: "wallet_transactions"
      referencedColumns: ["id"]
    }
                  ]
                },"webhook_events": {
                  Row: {
                    "attempts": number,"event_id": string,"id": string,"last_error": string | null,"payload": NonNullable<Json>,"processed_at": string | null,"provider": string,"received_at": string,"status": string,"type": string
                  }
                  ComputedFields: never
                  Insert: {
                    "attempts"?: number,"event_id": string,"id"?: string,"last_error"?: string | null,"payload": NonNullable<Json>,"processed_at"?: string | null,"provider": string,"received_at"?: string,"status"?: string,"type": string
                  }
                  Update: {
                    "attempts"?: number,"event_id"?: string,"id"?: string,"last_error"?: string | null,"payload"?: NonNullable<Json>,"processed_at"?: string | null,"provider"?: string,"received_at"?: string,"status"?: string,"type"?: string
                  }
                  Relationships: [
                    
                  ]
                },"whatsapp_contacts": {
                  Row: {
                    "created_at": string,"language": string,"last_inbound_at": string | null,"opted_out": boolean,"profile_name": string | null,"updated_at": string,"user_id": string,"wa_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"language"?: string,"last_inbound_at"?: string | null,"opted_out"?: boolean,"profile_name"?: string | null,"updated_at"?: string,"user_id": string,"wa_id": string
                  }
                  Update: {
                    "created_at"?: string,"language"?: string,"last_inbound_at"?: string | null,"opted_out"?: boolean,"profile_name"?: string | null,"updated_at"?: string,"user_id"?: string,"wa_id"?: string
                  }
                  Relationships: [
                    
                  ]
                },"whatsapp_messages": {
                  Row: {
                    "body": string | null,"body_cut_from": number | null,"created_at": string,"direction": string,"error": Json | null,"id": string,"phone_number_id": string | null,"recipient": string | null,"sender": string | null,"sent_at": string | null,"status": string,"status_at": string | null,"type": string | null,"updated_at": string,"wamid": string
                  }
                  ComputedFields: never
                  Insert: {
                    "body"?: string | null,"body_cut_from"?: number | null,"created_at"?: string,"direction": string,"error"?: Json | null,"id"?: string,"phone_number_id"?: string | null,"recipient"?: string | null,"sender"?: string | null,"sent_at"?: string | null,"status": string,"status_at"?: string | null,"type"?: string | null,"updated_at"?: string,"wamid": string
                  }
                  Update: {
                    "body"?: string | null,"body_cut_from"?: number | null,"created_at"?: string,"direction"?: string,"error"?: Json | null,"id"?: string,"phone_number_id"?: string | null,"recipient"?: string | null,"sender"?: string | null,"sent_at"?: string | null,"status"?: string,"status_at"?: string | null,"type"?: string | null,"updated_at"?: string,"wamid"?: string
                  }
                  Relationships: [
                    
                  ]
                },"whatsapp_number_changes": {
                  Row: {
                    "created_at": string,"id": string,"moved_to": string | null,"new_wa_id": string,"notice_wamid": string,"noticed_at": string,"old_wa_id": string,"outcome": string,"updated_at": string,"user_id": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"id"?: string,"moved_to"?: string | null,"new_wa_id": string,"notice_wamid": string,"noticed_at": string,"old_wa_id": string,"outcome": string,"updated_at"?: string,"user_id"?: string | null
                  }
                  Update: {
                    "created_at"?: string,"id"?: string,"moved_to"?: string | null,"new_wa_id"?: string,"notice_wamid"?: string,"noticed_at"?: string,"old_wa_id"?: string,"outcome"?: string,"updated_at"?: string,"user_id"?: string | null
                  }
                  Relationships: [
                    
                  ]
                },"whatsapp_outbox": {
                  Row: {
                    "attempts": number,"body": NonNullable<Json>,"created_at": string,"id": string,"kind": string,"last_error": string | null,"lease_until": string | null,"next_attempt_at": string,"purpose": string,"status": string,"updated_at": string,"wa_id": string,"wamid": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "attempts"?: number,"body": NonNullable<Json>,"created_at"?: string,"id"?: string,"kind": string,"last_error"?: string | null,"lease_until"?: string | null,"next_attempt_at"?: string,"purpose": string,"status"?: string,"updated_at"?: string,"wa_id": string,"wamid"?: string | null
                  }
                  Update: {
                    "attempts"?: number,"body"?: NonNullable<Json>,"created_at"?: string,"id"?: string,"kind"?: string,"last_error"?: string | null,"lease_until"?: string | null,"next_attempt_at"?: string,"purpose"?: string,"status"?: string,"updated_at"?: string,"wa_id"?: string,"wamid"?: string | null
                  }
                  Relationships: [
                    
                  ]
                },"whatsapp_pending_payments": {
                  Row: {
                    "amount": number,"cashout_id": string | null,"created_at": string,"currency": string,"decided_at": string | null,"expires_at": string,"from_account_id": string,"id": string,"kind": string,"msisdn": string | null,"payer_id": string,"recipient_wa_id": string | null,"replaced_by": string | null,"status": string,"to_account_id": string | null,"transaction_id": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "amount": number,"cashout_id"?: string | null,"created_at"?: string,"currency": string,"decided_at"?: string | null,"expires_at"?: string,"from_account_id": string,"id"?: string,"kind": string,"msisdn"?: string | null,"payer_id": string,"recipient_wa_id"?: string | null,"replaced_by"?: string | null,"status"?: string,"to_account_id"?: string | null,"transaction_id"?: string | null
                  }
                  Update: {
                    "amount"?: number,"cashout_id"?: string | null,"created_at"?: string,"currency"?: string,"decided_at"?: string | null,"expires_at"?: string,"from_account_id"?: string,"id"?: string,"kind"?: string,"msisdn"?: string | null,"payer_id"?: string,"recipient_wa_id"?: string | null,"replaced_by"?: string | null,"status"?: string,"to_account_id"?: string | null,"transaction_id"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "whatsapp_pending_payments_cashout_id_fkey"
      columns: ["cashout_id"]
isOneToOne: false
      referencedRelation: "cashouts"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "whatsapp_pending_payments_from_account_id_fkey"
      columns: ["from_account_id"]
isOneToOne: false
      referencedRelation: "wallet_account_balances"
      referencedColumns: ["account_id"]
    },{
      foreignKeyName: "whatsapp_pending_payments_from_account_id_fkey"
      columns: ["from_account_id"]
isOneToOne: false
      referencedRelation: "wallet_accounts"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "whatsapp_pending_payments_replaced_by_fkey"
      columns: ["replaced_by"]
isOneToOne: false
      referencedRelation: "whatsapp_pending_payments"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "whatsapp_pending_payments_to_account_id_fkey"
      columns: ["to_account_id"]
isOneToOne: false
      referencedRelation: "wallet_account_balances"
      referencedColumns: ["account_id"]
    },{
      foreignKeyName: "whatsapp_pending_payments_to_account_id_fkey"
      columns: ["to_account_id"]
isOneToOne: false
      referencedRelation: "wallet_accounts"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "whatsapp_pending_payments_transaction_id_fkey"
      columns: ["transaction_id"]
isOneToOne: false
      referencedRelation: "wallet_transactions"
      referencedColumns: ["id"]
    }
                  ]
                }
          }
          Views: {
            "wallet_account_balances": {
                  Row: {
                    "account_id": string,"available": number | null,"balance": number | null,"code": string | null,"currency": string,"kind": string,"owner_id": string | null,"status": string
                  }
                  ComputedFields: never
                  Relationships: [
                    
                  ]
                }
          }
          Functions: {
            "cashout_settle":
{ Args: { "p_amount"?: number,"p_currency"?: string,"p_reason"?: string,"p_reference": string,"p_status": string }; Returns: {
              "account_id": string,
"amount": number,
"created_at": string,
"currency": string,
"hold_id": string,
"id": string,
"idempotency_key": string,
"last_sent_at": string | null,
"msisdn": string,
"reason": string | null,
"reference_id": string,
"resolution_reason": string | null,
"resolved_by": string | null,
"sending_closed_at": string | null,
"settled_at": string | null,
"status": string,
"updated_at": string,
"user_id": string
            }
                          SetofOptions: {
        from: "*"
        to: "cashouts"
        isOneToOne: true
        isSetofReturn: false
      } },
"momo_refund_settle":
{ Args: { "p_amount"?: number,"p_currency"?: string,"p_reason"?: string,"p_reference": string,"p_status": string }; Returns: {
              "amount": number,
"borne_by_platform": boolean,
"created_at": string,
"created_by": string | null,
"currency": string,
"forced": boolean,
"id": string,
"last_sent_at": string | null,
"owed_to_closed_account": boolean,
"paid_out_amount": number | null,
"paid_out_at": string | null,
"paid_out_by": string | null,
"paid_out_transaction_id": string | null,
"payment_id": string,
"payout_method": string | null,
"payout_reason": string | null,
"payout_reference": string | null,
"provider": string,
"provider_refund_id": string,
"reason": string | null,
"refund_request_id": string | null,
"resolution_reason": string | null,
"resolved_by": string | null,
"sending_closed_at": string | null,
"status": string,
"updated_at": string,
"user_id": string | null,
"wallet_transaction_id": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "refunds"
        isOneToOne: true
        isSetofReturn: false
      } },
"payment_intent_attach":
{ Args: { "p_intent": string,"p_provider_ref": string }; Returns: {
              "account_id": string,
"amount": number,
"created_at": string,
"created_by": string | null,
"currency": string,
"failure_reason": string | null,
"id": string,
"idempotency_key": string,
"provider": string,
"provider_ref": string | null,
"status": string,
"updated_at": string,
"user_id": string
            }
                          SetofOptions: {
        from: "*"
        to: "payment_intents"
        isOneToOne: true
        isSetofReturn: false
      } },
"payment_intent_create":
{ Args: { "p_account": string,"p_amount": number,"p_currency": string,"p_idempotency_key": string,"p_provider": string }; Returns: {
              "account_id": string,
"amount": number,
"created_at": string,
"created_by": string | null,
"currency": string,
"failure_reason": string | null,
"id": string,
"idempotency_key": string,
"provider": string,
"provider_ref": string | null,
"status": string,
"updated_at": string,
"user_id": string
            }
                          SetofOptions: {
        from: "*"
        to: "payment_intents"
        isOneToOne: true
        isSetofReturn: false
      } },
"payment_record_failure":
{ Args: { "p_intent": string,"p_reason": string }; Returns: {
              "account_id": string,
"amount": number,
"created_at": string,
"created_by": string | null,
"currency": string,
"failure_reason": string | null,
"id": string,
"idempotency_key": string,
"provider": string,
"provider_ref": string | null,
"status": string,
"updated_at": string,
"user_id": string
            }
                          SetofOptions: {
        from: "*"
        to: "payment_intents"
        isOneToOne: true
        isSetofReturn: false
      } },
"payment_record_success":
{ Args: { "p_amount": number,"p_currency": string,"p_fee"?: number,"p_intent": string,"p_provider": string,"p_provider_payment_id": string,"p_raw"?: Json }; Returns: {
              "amount": number,
"amount_refunded": number,
"created_at": string,
"currency": string,
"fee": number,
"id": string,
"intent_id": string | null,
"provider": string,
"provider_payment_id": string,
"raw": NonNullable<Json>,
"resolution": string | null,
"resolution_reason": string | null,
"resolved_at": string | null,
"resolved_by": string | null,
"review_reason": string | null,
"status": string,
"updated_at": string,
"user_id": string | null,
"wallet_transaction_id": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "payments"
        isOneToOne: true
        isSetofReturn: false
      } },
"payment_success_apply":
{ Args: { "p_amount": number,"p_currency": string,"p_intent_hint": string,"p_provider": string,"p_provider_payment_id": string,"p_raw": Json }; Returns: string
                           },
"refund_record":
{ Args: { "p_amount": number,"p_payment": string,"p_provider_refund_id": string,"p_reason"?: string }; Returns: {
              "amount": number,
"borne_by_platform": boolean,
"created_at": string,
"created_by": string | null,
"currency": string,
"forced": boolean,
"id": string,
"last_sent_at": string | null,
"owed_to_closed_account": boolean,
"paid_out_amount": number | null,
"paid_out_at": string | null,
"paid_out_by": string | null,
"paid_out_transaction_id": string | null,
"payment_id": string,
"payout_method": string | null,
"payout_reason": string | null,
"payout_reference": string | null,
"provider": string,
"provider_refund_id": string,
"reason": string | null,
"refund_request_id": string | null,
"resolution_reason": string | null,
"resolved_by": string | null,
"sending_closed_at": string | null,
"status": string,
"updated_at": string,
"user_id": string | null,
"wallet_transaction_id": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "refunds"
        isOneToOne: true
        isSetofReturn: false
      } },
"refund_record_failure":
{ Args: { "p_amount": number,"p_payment": string,"p_provider_refund_id": string,"p_reason"?: string,"p_status"?: string }; Returns: {
              "amount": number,
"borne_by_platform": boolean,
"created_at": string,
"created_by": string | null,
"currency": string,
"forced": boolean,
"id": string,
"last_sent_at": string | null,
"owed_to_closed_account": boolean,
"paid_out_amount": number | null,
"paid_out_at": string | null,
"paid_out_by": string | null,
"paid_out_transaction_id": string | null,
"payment_id": string,
"payout_method": string | null,
"payout_reason": string | null,
"payout_reference": string | null,
"provider": string,
"provider_refund_id": string,
"reason": string | null,
"refund_request_id": string | null,
"resolution_reason": string | null,
"resolved_by": string | null,
"sending_closed_at": string | null,
"status": string,
"updated_at": string,
"user_id": string | null,
"wallet_transaction_id": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "refunds"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_adjust":
{ Args: { "p_account": string,"p_amount": number,"p_direction": string,"p_idempotency_key": string,"p_reason": string }; Returns: {
              "actor_app_role": string | null,
"actor_id": string | null,
"actor_role": string,
"amount": number,
"audit_id": number,
"capture_idempotency_key": string | null,
"client_ip": unknown,
"correlation_id": string | null,
"created_at": string,
"currency": string,
"description": string | null,
"expires_at": string | null,
"from_account_id": string,
"hold_amount": number | null,
"id": string,
"idempotency_key": string,
"initiated_by": string | null,
"kind": string,
"metadata": NonNullable<Json>,
"posted_at": string | null,
"reverses_id": string | null,
"session_id": string | null,
"status": string,
"to_account_id": string | null,
"txid": number,
"user_agent": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_transactions"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_balance":
{ Args: { "p_account": string }; Returns: number
                           },
"wallet_capture":
{ Args: { "p_amount"?: number,"p_hold_id": string,"p_idempotency_key"?: string,"p_to"?: string }; Returns: {
              "actor_app_role": string | null,
"actor_id": string | null,
"actor_role": string,
"amount": number,
"audit_id": number,
"capture_idempotency_key": string | null,
"client_ip": unknown,
"correlation_id": string | null,
"created_at": string,
"currency": string,
"description": string | null,
"expires_at": string | null,
"from_account_id": string,
"hold_amount": number | null,
"id": string,
"idempotency_key": string,
"initiated_by": string | null,
"kind": string,
"metadata": NonNullable<Json>,
"posted_at": string | null,
"reverses_id": string | null,
"session_id": string | null,
"status": string,
"to_account_id": string | null,
"txid": number,
"user_agent": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_transactions"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_deposit":
{ Args: { "p_account": string,"p_amount": number,"p_currency": string,"p_idempotency_key": string,"p_metadata"?: Json,"p_source": string }; Returns: {
              "actor_app_role": string | null,
"actor_id": string | null,
"actor_role": string,
"amount": number,
"audit_id": number,
"capture_idempotency_key": string | null,
"client_ip": unknown,
"correlation_id": string | null,
"created_at": string,
"currency": string,
"description": string | null,
"expires_at": string | null,
"from_account_id": string,
"hold_amount": number | null,
"id": string,
"idempotency_key": string,
"initiated_by": string | null,
"kind": string,
"metadata": NonNullable<Json>,
"posted_at": string | null,
"reverses_id": string | null,
"session_id": string | null,
"status": string,
"to_account_id": string | null,
"txid": number,
"user_agent": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_transactions"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_hold":
{ Args: { "p_account": string,"p_amount": number,"p_currency": string,"p_expires_at"?: string,"p_idempotency_key": string,"p_metadata"?: Json }; Returns: {
              "actor_app_role": string | null,
"actor_id": string | null,
"actor_role": string,
"amount": number,
"audit_id": number,
"capture_idempotency_key": string | null,
"client_ip": unknown,
"correlation_id": string | null,
"created_at": string,
"currency": string,
"description": string | null,
"expires_at": string | null,
"from_account_id": string,
"hold_amount": number | null,
"id": string,
"idempotency_key": string,
"initiated_by": string | null,
"kind": string,
"metadata": NonNullable<Json>,
"posted_at": string | null,
"reverses_id": string | null,
"session_id": string | null,
"status": string,
"to_account_id": string | null,
"txid": number,
"user_agent": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_transactions"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_limits_left":
{ Args: Record<PropertyKey, never>; Returns: {
              "account_id": string,"currency": string,"left_this_hour": number,"left_today": number,"max_daily": number,"max_per_hour": number,"max_single": number,"tier": string
            }[]
                           },
"wallet_open_account":
{ Args: { "p_currency": string }; Returns: {
              "allow_negative": boolean,
"available": number,
"balance": number,
"balance_shards": number,
"code": string | null,
"created_at": string,
"currency": string,
"id": string,
"kind": string,
"limit_tier": string,
"owner_id": string | null,
"status": string,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_accounts"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_reverse":
{ Args: { "p_amount"?: number,"p_force"?: boolean,"p_idempotency_key": string,"p_reason"?: string,"p_transaction_id": string }; Returns: {
              "actor_app_role": string | null,
"actor_id": string | null,
"actor_role": string,
"amount": number,
"audit_id": number,
"capture_idempotency_key": string | null,
"client_ip": unknown,
"correlation_id": string | null,
"created_at": string,
"currency": string,
"description": string | null,
"expires_at": string | null,
"from_account_id": string,
"hold_amount": number | null,
"id": string,
"idempotency_key": string,
"initiated_by": string | null,
"kind": string,
"metadata": NonNullable<Json>,
"posted_at": string | null,
"reverses_id": string | null,
"session_id": string | null,
"status": string,
"to_account_id": string | null,
"txid": number,
"user_agent": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_transactions"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_set_balance_shards":
{ Args: { "p_account": string,"p_shards": number }; Returns: {
              "allow_negative": boolean,
"available": number,
"balance": number,
"balance_shards": number,
"code": string | null,
"created_at": string,
"currency": string,
"id": string,
"kind": string,
"limit_tier": string,
"owner_id": string | null,
"status": string,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_accounts"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_set_limit_tier":
{ Args: { "p_account": string,"p_tier": string }; Returns: {
              "allow_negative": boolean,
"available": number,
"balance": number,
"balance_shards": number,
"code": string | null,
"created_at": string,
"currency": string,
"id": string,
"kind": string,
"limit_tier": string,
"owner_id": string | null,
"status": string,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_accounts"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_set_status":
{ Args: { "p_account": string,"p_reason": string,"p_status": string }; Returns: {
              "allow_negative": boolean,
"available": number,
"balance": number,
"balance_shards": number,
"code": string | null,
"created_at": string,
"currency": string,
"id": string,
"kind": string,
"limit_tier": string,
"owner_id": string | null,
"status": string,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_accounts"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_set_tier_limits":
{ Args: { "p_currency": string,"p_max_daily": number,"p_max_per_hour": number,"p_max_single": number,"p_tier": string }; Returns: {
              "currency": string,
"id": string,
"max_daily": number,
"max_per_hour": number,
"max_single": number,
"tier": string,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_tier_limits"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_transfer":
{ Args: { "p_amount": number,"p_currency": string,"p_description"?: string,"p_from": string,"p_idempotency_key": string,"p_metadata"?: Json,"p_to": string }; Returns: {
              "actor_app_role": string | null,
"actor_id": string | null,
"actor_role": string,
"amount": number,
"audit_id": number,
"capture_idempotency_key": string | null,
"client_ip": unknown,
"correlation_id": string | null,
"created_at": string,
"currency": string,
"description": string | null,
"expires_at": string | null,
"from_account_id": string,
"hold_amount": number | null,
"id": string,
"idempotency_key": string,
"initiated_by": string | null,
"kind": string,
"metadata": NonNullable<Json>,
"posted_at": string | null,
"reverses_id": string | null,
"session_id": string | null,
"status": string,
"to_account_id": string | null,
"txid": number,
"user_agent": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_transactions"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_transfer_batch":
{ Args: { "p_transfers": Json }; Returns: {
              "actor_app_role": string | null,
"actor_id": string | null,
"actor_role": string,
"amount": number,
"audit_id": number,
"capture_idempotency_key": string | null,
"client_ip": unknown,
"correlation_id": string | null,
"created_at": string,
"currency": string,
"description": string | null,
"expires_at": string | null,
"from_account_id": string,
"hold_amount": number | null,
"id": string,
"idempotency_key": string,
"initiated_by": string | null,
"kind": string,
"metadata": NonNullable<Json>,
"posted_at": string | null,
"reverses_id": string | null,
"session_id": string | null,
"status": string,
"to_account_id": string | null,
"txid": number,
"user_agent": string | null
            }[]
                          SetofOptions: {
        from: "*"
        to: "wallet_transactions"
        isOneToOne: false
        isSetofReturn: true
      } },
"wallet_void":
{ Args: { "p_hold_id": string }; Returns: {
              "actor_app_role": string | null,
"actor_id": string | null,
"actor_role": string,
"amount": number,
"audit_id": number,
"capture_idempotency_key": string | null,
"client_ip": unknown,
"correlation_id": string | null,
"created_at": string,
"currency": string,
"description": string | null,
"expires_at": string | null,
"from_account_id": string,
"hold_amount": number | null,
"id": string,
"idempotency_key": string,
"initiated_by": string | null,
"kind": string,
"metadata": NonNullable<Json>,
"posted_at": string | null,
"reverses_id": string | null,
"session_id": string | null,
"status": string,
"to_account_id": string | null,
"txid": number,
"user_agent": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_transactions"
        isOneToOne: true
        isSetofReturn: false
      } },
"wallet_withdraw":
{ Args: { "p_account": string,"p_amount": number,"p_currency": string,"p_destination": string,"p_expires_at"?: string,"p_idempotency_key": string,"p_metadata"?: Json }; Returns: {
              "actor_app_role": string | null,
"actor_id": string | null,
"actor_role": string,
"amount": number,
"audit_id": number,
"capture_idempotency_key": string | null,
"client_ip": unknown,
"correlation_id": string | null,
"created_at": string,
"currency": string,
"description": string | null,
"expires_at": string | null,
"from_account_id": string,
"hold_amount": number | null,
"id": string,
"idempotency_key": string,
"initiated_by": string | null,
"kind": string,
"metadata": NonNullable<Json>,
"posted_at": string | null,
"reverses_id": string | null,
"session_id": string | null,
"status": string,
"to_account_id": string | null,
"txid": number,
"user_agent": string | null
            }
                          SetofOptions: {
        from: "*"
        to: "wallet_transactions"
        isOneToOne: true
        isSetofReturn: false
      } },
"webhook_event_begin":
{ Args: { "p_event_id": string,"p_payload": Json,"p_provider": string,"p_type": string }; Returns: {
              "attempts": number,"id": string,"outcome": string
            }[]
                           },
"webhook_event_finish":
{ Args: { "p_error"?: string,"p_id": string,"p_status": string }; Returns: {
              "attempts": number,
"event_id": string,
"id": string,
"last_error": string | null,
"payload": NonNullable<Json>,
"processed_at": string | null,
"provider": string,
"received_at": string,
"status": string,
"type": string
            }
                          SetofOptions: {
        from: "*"
        to: "webhook_events"
        isOneToOne: true
        isSetofReturn: false
      } },
"webhook_ingest_payment_success":
{ Args: { "p_amount": number,"p_client_address": string,"p_correlation_id": string,"p_currency": string,"p_event_id": string,"p_headers": Json,"p_intent_hint": string,"p_payload": Json,"p_provider": string,"p_provider_payment_id": string,"p_raw": Json,"p_type": string }; Returns: {
              "attempts": number,"last_error": string,"outcome": string
            }[]
                           },
"whatsapp_message_status_apply":
{ Args: { "p_at": string,"p_error"?: Json,"p_phone_number_id"?: string,"p_recipient"?: string,"p_status": string,"p_wamid": string }; Returns: {
              "body": string | null,
"body_cut_from": number | null,
"created_at": string,
"direction": string,
"error": Json | null,
"id": string,
"phone_number_id": string | null,
"recipient": string | null,
"sender": string | null,
"sent_at": string | null,
"status": string,
"status_at": string | null,
"type": string | null,
"updated_at": string,
"wamid": string
            }
                          SetofOptions: {
        from: "*"
        to: "whatsapp_messages"
        isOneToOne: true
        isSetofReturn: false
      } }
          }
          Enums: {
            [_ in never]: never
          }
          CompositeTypes: {
            [_ in never]: never
          }
        }
}

type DatabaseWithoutInternals = Omit<Database, '__InternalSupabase'>

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
  ? (DefaultSchema["Tables"] & DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
      Row: infer R
    }
    ? R
    : never
  : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Insert: infer I
    }
    ? I
    : never
  : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Update: infer U
    }
    ? U
    : never
  : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never = never
> = DefaultSchemaEnumNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
  ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
  : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never = never
> = PublicCompositeTypeNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
  ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
  : never

export const Constants = {
  "public": {
          Enums: {
            
          }
        }
} as const
