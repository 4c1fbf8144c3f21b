-- Mart product_stats, per product and day (UTC): how often is each product seen, put in a
-- cart, bought, for how much, how often does a view turn into a purchase, and how do buyers
-- rate it? The merchandising team's daily product report.
select
  cast(e.at as date) as dt,
  e.product_id,
  p.name,
  p.category,
  p.brand,
  p.store_id,
  cast(sum(case when e.type = 'view' then 1 else 0 end) as bigint) as views,
  cast(sum(case when e.type = 'add_to_cart' then 1 else 0 end) as bigint) as carts,
  cast(sum(case when e.type = 'purchase' then 1 else 0 end) as bigint) as purchases,
  cast(sum(case when e.type = 'purchase' then e.quantity else 0 end) as bigint) as units,
  round(sum(case when e.type = 'purchase' then e.quantity * e.price else 0.0 end), 2) as revenue,
  round(
    cast(sum(case when e.type = 'purchase' then 1 else 0 end) as double)
      / nullif(sum(case when e.type = 'view' then 1 else 0 end), 0),
    4
  ) as conversion,
  round(avg(case when e.type = 'review' then cast(e.rating as double) end), 4) as avg_rating,
  cast(sum(case when e.type = 'review' then 1 else 0 end) as bigint) as reviews
from user_events e
left join products_current p on p.product_id = e.product_id
group by cast(e.at as date), e.product_id, p.name, p.category, p.brand, p.store_id
