-- Mart recommendations: the top 5 products for each user, from item-based collaborative
-- filtering with a bounded model, so that the job's cost grows linearly with the events.
-- 1. History: each user's carted or bought products, capped to the most recent
--    `history` of them (a job parameter, jobs/marts.ts).
-- 2. Similarity: two products are alike when the same users took both, normalised for
--    popularity (cosine: users of both / sqrt(users of one × users of the other)), so that a
--    best-seller everyone buys is not everyone's neighbour; each product keeps only its
--    `neighbours` most similar products (a job parameter).
-- 3. Candidates: the neighbours of the user's recent products, scored by their similarities
--    summed, reason 'bought together with your items'.
-- 4. Cold start: where that gives fewer than 5, the best-sellers of the user's favourite
--    category fill the rest, after every neighbour, reason 'popular in <category>'.
-- Never a product the user already carted or bought, never one out of stock, never one
-- missing from the products topic (forbidden ones never reach it). Published to topic
-- `recommendations`.
with interactions as (
  select e.user_id, e.product_id, max(e.at) as last_at
  from user_events e
  where e.type in ('add_to_cart', 'purchase')
  group by e.user_id, e.product_id
),
recent as (
  select user_id, product_id
  from (
    select
      user_id, product_id,
      row_number() over (partition by user_id order by last_at desc, product_id) as recency
    from interactions
  ) ranked
  where recency <= {{history}}
),
takers as (
  select product_id, cast(count(*) as double) as users from recent group by product_id
),
pairs as (
  select a.product_id as a, b.product_id as b, cast(count(*) as double) as users
  from recent a
  join recent b on a.user_id = b.user_id and a.product_id <> b.product_id
  group by a.product_id, b.product_id
),
neighbours as (
  select a, b, similarity
  from (
    select
      p.a, p.b, p.users / sqrt(ta.users * tb.users) as similarity,
      row_number() over (
        partition by p.a order by p.users / sqrt(ta.users * tb.users) desc, p.b
      ) as nearness
    from pairs p
    join takers ta on ta.product_id = p.a
    join takers tb on tb.product_id = p.b
  ) ranked
  where nearness <= {{neighbours}}
),
available as (
  select product_id, category from products_current where stock_available > 0
),
together as (
  select r.user_id, n.b as product_id, round(sum(n.similarity), 6) as score
  from recent r
  join neighbours n on n.a = r.product_id
  group by r.user_id, n.b
),
affinity as (
  select user_id, category
  from (
    select
      e.user_id, p.category,
      row_number() over (partition by e.user_id order by count(*) desc, p.category) as affinity_rank
    from user_events e
    join products_current p on p.product_id = e.product_id
    group by e.user_id, p.category
  ) ranked
  where affinity_rank = 1
),
best_sellers as (
  select product_id, category, round(purchases / top, 6) as share
  from (
    select
      s.product_id, av.category, s.purchases,
      max(s.purchases) over (partition by av.category) as top,
      row_number() over (partition by av.category order by s.purchases desc, s.product_id) as sales_rank
    from (
      select e.product_id, cast(count(*) as double) as purchases
      from user_events e
      where e.type = 'purchase'
      group by e.product_id
    ) s
    join available av on av.product_id = s.product_id
  ) ranked
  where sales_rank <= {{history}} + 5
),
candidates as (
  select t.user_id, t.product_id, 1 as together, t.score, av.category
  from together t
  join available av on av.product_id = t.product_id
  union all
  select a.user_id, b.product_id, 0 as together, b.share as score, b.category
  from affinity a
  join best_sellers b on b.category = a.category
),
fresh as (
  select c.*
  from candidates c
  left join interactions i on i.user_id = c.user_id and i.product_id = c.product_id
  where i.product_id is null
),
ranked as (
  select
    user_id, product_id, together, score, category,
    row_number() over (
      partition by user_id order by together desc, score desc, product_id
    ) as rec_rank
  from (
    select
      user_id, product_id, max(together) as together,
      coalesce(max(case when together = 1 then score end), max(score)) as score,
      max(category) as category
    from fresh
    group by user_id, product_id
  ) one_per_product
)
select
  user_id,
  cast(rec_rank as int) as rec_rank,
  product_id,
  score,
  case
    when together = 1 then 'bought together with your items'
    else concat('popular in ', category)
  end as reason
from ranked
where rec_rank <= 5
