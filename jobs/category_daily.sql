-- Mart category_daily, per category and day (UTC): how each category sells, its view →
-- purchase conversion and its best-selling product of the day (by revenue). Which shelves
-- grow, which need attention.
select
  s.dt,
  s.category,
  cast(count(*) as bigint) as products,
  cast(sum(s.views) as bigint) as views,
  cast(sum(s.carts) as bigint) as carts,
  cast(sum(s.purchases) as bigint) as purchases,
  round(sum(s.revenue), 2) as revenue,
  round(cast(sum(s.purchases) as double) / nullif(sum(s.views), 0), 4) as conversion,
  max(case when r.top_rank = 1 then r.product_id end) as top_product
from product_stats s
left join (
  select
    dt, category, product_id,
    row_number() over (partition by dt, category order by revenue desc, product_id) as top_rank
  from product_stats
) r on r.dt = s.dt and r.category = s.category and r.product_id = s.product_id
where s.category is not null
group by s.dt, s.category
