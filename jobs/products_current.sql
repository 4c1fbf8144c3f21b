-- View products_current (not a mart; the other jobs read it): the latest version of each
-- product in the lake. The `products` topic holds every update the filter let through, so a
-- product can appear several times; the newest `updated_at` wins, then the newest record.
-- Only products the filter allowed reach the topic: a product missing here is forbidden.
select
  product_id, name, category, brand, store_id, price_amount, currency, stock_available
from (
  select
    p.*,
    row_number() over (
      partition by product_id
      order by updated_at desc, _timestamp desc, _partition desc, _offset desc
    ) as version_rank
  from products p
) latest
where version_rank = 1
