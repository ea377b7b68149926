SELECT i.id, i.external_number, i.status, i.payment_status, i.total, i.currency,
       i.needs_attention, i.attention_reasons, i.customer_id, c.full_name AS customer_name,
       i.order_date, i.created_at
FROM invoices AS i
LEFT JOIN customers AS c ON c.id = i.customer_id
WHERE i.shop_id = :shop_id
  AND (CAST(:status AS text) IS NULL OR i.status = CAST(:status AS text))
  AND (NOT CAST(:attention AS boolean) OR i.needs_attention)
ORDER BY i.id
